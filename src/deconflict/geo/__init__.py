"""Geodesy on the WGS84 ellipsoid: exact distances, sides and conservative bounds."""
