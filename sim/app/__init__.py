"""The app's logic without its frame: state and link, views, answers, the background Monte Carlo band.

Nothing here imports Streamlit; `app.py` lays it out.
"""
