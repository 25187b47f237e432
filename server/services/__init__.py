"""The domain: typed functions that own queries, rules and commits. No request or g in here."""
