"""Local servers that speak cloud wire protocols, started by the tests."""
