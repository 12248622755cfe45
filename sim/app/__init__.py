"""The app's logic without its frame: state and link, views, answers, the background Monte Carlo band, and
the "Your data" page (a CRM export fitted to a scenario).

Nothing here imports Streamlit; `app.py` lays it out.
"""
