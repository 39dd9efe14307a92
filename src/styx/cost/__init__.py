"""What clusters cost: usage periods at the catalog price in force, the report, spending caps."""
