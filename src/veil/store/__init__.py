"""What Veil keeps on disk, and the keys that seal it."""
