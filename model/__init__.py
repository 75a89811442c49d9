"""claimstance model package: labels, claim extraction and batched inference."""
