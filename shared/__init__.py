"""Code shared by the API, orchestrators and activities; registers no functions."""
