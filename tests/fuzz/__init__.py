"""The fuzz suite (issue 16); see README.md."""
