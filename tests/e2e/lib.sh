# shared e2e helpers (placeholder)
