"""The web application (`rosp serve`): simulator, reform page, run explorer, JSON API."""
