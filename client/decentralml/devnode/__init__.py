"""An embedded local DecentralML chain that real Substrate clients accept.

``runtime/`` is the pure state machine (System, Timestamp, Balances,
TransactionPayment, Sudo, DecentralMLModule over raw storage bytes). Around it:
``history`` (state at any block), ``pool`` (transaction pool), ``node`` (block
production and subscriptions), ``store`` (SQLite persistence), ``rpc`` (the
JSON-RPC method table), ``server`` (aiohttp WebSocket + HTTP) and ``cli``.
Nothing here reads the environment or opens sockets at import time.
"""
