"""Long-running services that drive the contracts: the keeper and meter ingestion, and the access
files of the broker the meters publish their readings to."""
