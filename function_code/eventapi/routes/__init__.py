"""Thin HTTP routes: each validates, calls one service, and shapes the answer."""
