"""Google Compute Engine through google-cloud-compute (REST transport). See provider.py."""
