"""Long-running services that drive the contracts: the keeper and meter ingestion."""
