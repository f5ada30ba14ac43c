"""Studies: questions asked of the model, each a function that returns tables and headline numbers.

What-if variants of a scenario (`whatif`), capacity over time (`capacity`), rent against build
(`economics`), which inputs matter (`sensitivity`), what one deal is worth to its buyer
(`deal_value`) and how well the method reproduces published runs (`backtest`). Imports the model,
the inputs and the base; figures and formatted tables are the views' (above).
"""
