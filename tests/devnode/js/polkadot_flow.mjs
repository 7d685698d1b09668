// @polkadot/api 16.x against the dev node: connect, metadata, a mortal-era transfer,
// create_task, storage and events. Prints one JSON object on stdout for pytest to check.
// Usage: node polkadot_flow.mjs ws://127.0.0.1:PORT   (DECENTRALML_NODE_MODULES must be set)
import { createRequire } from 'node:module';
import path from 'node:path';

const modules = process.env.DECENTRALML_NODE_MODULES;
if (!modules) {
  console.error('DECENTRALML_NODE_MODULES is not set: source scripts/build-node-deps.sh first');
  process.exit(2);
}
const require = createRequire(path.join(path.dirname(modules), 'package.json'));
const { ApiPromise, WsProvider } = require('@polkadot/api');
const { Keyring } = require('@polkadot/keyring');
const { cryptoWaitReady } = require('@polkadot/util-crypto');

const url = process.argv[2];

function sendAndFinalize(api, tx, signer, options = {}) {
  return new Promise((resolve, reject) => {
    const statuses = [];
    tx.signAndSend(signer, options, (result) => {
      statuses.push(result.status.type);
      if (result.dispatchError) {
        let error = result.dispatchError.toString();
        if (result.dispatchError.isModule) {
          const meta = api.registry.findMetaError(result.dispatchError.asModule);
          error = `${meta.section}.${meta.name}`;
        }
        resolve({ statuses, error, events: [] });
      }
      if (result.status.isFinalized) {
        resolve({
          statuses,
          blockHash: result.status.asFinalized.toHex(),
          events: result.events.map(({ event }) => `${event.section}.${event.method}`),
          fee: result.events
            .filter(({ event }) => event.section === 'transactionPayment' && event.method === 'TransactionFeePaid')
            .map(({ event }) => event.data[1].toString()),
          txIndex: result.txIndex,
        });
      }
    }).catch(reject);
  });
}

async function main() {
  await cryptoWaitReady();
  const provider = new WsProvider(url, false);
  await provider.connect();
  const api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
  const out = {};
  out.chain = (await api.rpc.system.chain()).toString();
  out.metadataVersion = api.runtimeMetadata.version;
  out.pallets = api.runtimeMetadata.asLatest.pallets.map((p) => p.name.toString());
  out.ss58 = api.registry.chainSS58;
  out.decimals = api.registry.chainDecimals[0];
  out.symbol = api.registry.chainTokens[0];
  out.specName = api.runtimeVersion.specName.toString();
  out.genesis = api.genesisHash.toHex();

  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const bobBefore = (await api.query.system.account(bob.address)).data.free.toBigInt();

  // Transfer, signed with an explicit mortal era (64 blocks) as PJ does by default.
  const amount = 1_234_000_000_000n;
  const transferTx = (api.tx.balances.transferKeepAlive || api.tx.balances.transfer)(bob.address, amount);
  const transfer = await sendAndFinalize(api, transferTx, alice, { era: 64 });
  const signedBlock = await api.rpc.chain.getBlock(transfer.blockHash);
  const included = signedBlock.block.extrinsics[transfer.txIndex];
  out.transfer = {
    ...transfer,
    mortal: included.era.isMortalEra,
    bobDelta: ((await api.query.system.account(bob.address)).data.free.toBigInt() - bobBefore).toString(),
  };
  // Extrinsic 0 is the timestamp inherent, bare in format v5 (byte 0x05) as a node's block builder makes it.
  const inherent = signedBlock.block.extrinsics[0];
  out.inherent = { call: `${inherent.method.section}.${inherent.method.method}`, signed: inherent.isSigned, firstByte: inherent.toU8a(true)[0] };

  // create_task.
  const section = Object.keys(api.tx).find((name) => name.toLowerCase() === 'decentralmlmodule');
  out.section = section;
  const header = await api.rpc.chain.getHeader();
  const digest = '0x' + '11'.repeat(32);
  const asset = { storage: 'IPFS', uri: 'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', digest };
  const createTx = api.tx[section].createTask(
    'ModelContributor',
    'Train the digits model for one epoch',
    5_000_000_000_000n,
    2,
    'ManualAccept',
    header.number.toNumber() + 100,
    10,
    { ModelContributor: { contributorBundle: asset, baseModel: null } },
  );
  const created = await sendAndFinalize(api, createTx, alice);
  out.createTask = created;
  const query = api.query[section];
  const entries = await query.tasks.entries();
  out.tasks = entries.map(([key, value]) => ({ id: key.args[0].toString(), task: value.toHuman() }));
  const eventsAt = await (await api.at(created.blockHash)).query.system.events();
  out.eventsAtCreate = eventsAt.map(({ phase, event }) => ({ phase: phase.toString(), name: `${event.section}.${event.method}` }));
  out.nextTaskId = (await query.nextTaskId()).toString();

  await api.disconnect();
  console.log(JSON.stringify(out));
}

main().then(() => process.exit(0)).catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
