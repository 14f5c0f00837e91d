"""PDF certificates that anyone can verify: issuance, signature, revocation, renewal."""
