"""The Alpaca adapter: ``Execution`` and ``MarketData`` ports over alpaca-py (see ``docs/brokers/alpaca.md``)."""
