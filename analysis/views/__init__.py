"""Views: what a reader sees of the studies and the model.

Figures (`plots`), the tables notebooks show (`tables`) and the live explorer's widgets
(`explorer`). Imports the studies, the model, the inputs and the base; number formatting is the
base's `formatting` (the model's results use it too).
"""
