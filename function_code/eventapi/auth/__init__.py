"""Sign-in and tokens: the GitHub device flow, the signer, token issue and verification."""
