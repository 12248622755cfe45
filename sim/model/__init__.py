"""The scenario model: the validated description of one business, its levers and dotted paths.

Imports nothing else of the project.
"""
