"""The staff web page (``pulje-intake web``): "I dag", cases, committee decisions.

It never fetches mail; it reads the worker's database and records staff
actions through the same domain functions as the command line.
"""
