"""Turn-taking policies: pure code over timestamps (ms), no sleeping, tested as timelines."""
