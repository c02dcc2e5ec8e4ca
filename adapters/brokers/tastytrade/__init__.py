"""The Tastytrade adapter: ``Execution`` and ``MarketData`` over the ``tastytrade`` SDK
(REST, DXLink, the account streamer). See ``docs/brokers/tastytrade.md``."""
