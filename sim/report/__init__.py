"""What people read, for the CLI and the app alike: texts in Russian and English, Altair charts."""
