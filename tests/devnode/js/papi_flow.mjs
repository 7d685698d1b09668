// polkadot-api (PAPI 2.x) against the dev node: `node papi_flow.mjs <ws url> <raw|hybrid|legacy>`.
//   raw:    the new JSON-RPC interface only (chainHead_v1, transaction_v1), no middleware
//   hybrid: PAPI's default provider (new interface where the node lists it, its fixes on top)
//   legacy: PAPI's legacy bridge only (chain_*, state_*, author_* behind a chainHead facade)
// Descriptors are not generated (the `papi` CLI needs network access to fetch metadata into a
// package); the unsafe API builds codecs from the metadata the node serves, at run time.
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { Binary, createClient } from 'polkadot-api';
import { getPolkadotSigner } from 'polkadot-api/signer';
import { getWsProvider, getWsRawProvider } from 'polkadot-api/ws';
import { withLegacy } from '@polkadot-api/ws-middleware';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

const [url, mode] = process.argv.slice(2);
const providers = {
  raw: () => getWsRawProvider(url),
  hybrid: () => getWsProvider(url),
  legacy: () => getWsRawProvider(url, { middleware: withLegacy }),
};

function watch(tx, signer) {
  return new Promise((resolve, reject) => {
    const seen = [];
    tx.signSubmitAndWatch(signer).subscribe({
      next: (event) => {
        seen.push(event.type === 'txBestBlocksState' ? `best:${event.found}` : event.type);
        if (event.type === 'finalized') {
          resolve({
            seen,
            ok: event.ok,
            block: event.block.hash,
            index: event.block.index,
            events: event.events.map((e) => `${e.type}.${e.value.type}`),
          });
        }
      },
      error: reject,
    });
  });
}

async function main() {
  await cryptoWaitReady();
  const client = createClient(providers[mode]());
  const out = { mode };
  const finalized = await client.getFinalizedBlock();
  out.finalizedNumber = finalized.number;
  const spec = await client.getChainSpecData();
  out.chain = spec.name;
  out.genesis = spec.genesisHash;
  const api = client.getUnsafeApi();
  out.ss58 = Number(await api.constants.System.SS58Prefix());

  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const signer = getPolkadotSigner(alice.publicKey, 'Sr25519', (data) => alice.sign(data));
  const bobBefore = (await api.query.System.Account.getValue(bob.address)).data.free;

  const amount = 1_234_000_000_000n;
  const transfer = await watch(
    api.tx.Balances.transfer_keep_alive({ dest: { type: 'Id', value: bob.address }, value: amount }),
    signer,
  );
  out.transfer = transfer;
  const bobAfter = (await api.query.System.Account.getValue(bob.address, { at: transfer.block })).data.free;
  out.bobDelta = (bobAfter - bobBefore).toString();

  const best = await client.getBestBlocks();
  const digest = '0x' + '11'.repeat(32); // [u8; 32]: a hex string in PAPI 2.x
  const asset = {
    storage: { type: 'IPFS', value: undefined },
    uri: Binary.fromText('ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'),
    digest,
  };
  const created = await watch(
    api.tx.DecentralMLModule.create_task({
      task_type: { type: 'ModelContributor', value: undefined },
      question: Binary.fromText('Train the digits model for one epoch'),
      pays_amount: 5_000_000_000_000n,
      max_assignments: 2,
      validation_strategy: { type: 'ManualAccept', value: undefined },
      expiration_block: best[0].number + 100,
      assignment_deadline: 10,
      assets: { type: 'ModelContributor', value: { contributor_bundle: asset, base_model: undefined } },
    }),
    signer,
  );
  out.createTask = created;
  const tasks = await api.query.DecentralMLModule.Tasks.getEntries({ at: created.block });
  out.tasks = tasks.map(({ keyArgs, value }) => ({ id: Number(keyArgs[0]), question: Binary.toText(value.question) }));
  out.nextTaskId = Number(await api.query.DecentralMLModule.NextTaskId.getValue({ at: created.block }));

  client.destroy();
  console.log(JSON.stringify(out, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

main().then(() => process.exit(0)).catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
