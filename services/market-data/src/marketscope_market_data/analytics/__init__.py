"""Technical indicators and portfolio risk metrics computed from daily bars."""
