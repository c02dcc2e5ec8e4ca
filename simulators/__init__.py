"""Local simulators of real brokers' wire protocols, with the simulated exchange behind them.

Each speaks what the broker's SDK speaks (REST, websocket frames, msgpack, the TWS socket
format) on 127.0.0.1, so the real SDK client is exercised exactly as in production: by the
contract suite, the crash tests and ``raydesk demo --venue <broker>-sim``.
"""
