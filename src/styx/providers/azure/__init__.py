"""Azure provider. Importing this package does not import the Azure SDK; provider.py does."""
