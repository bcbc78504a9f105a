"""The data sets both twins train on (catalog.py: one loader), where their files come from
(idx.py, kaggle.py, lines.py), and a picture of your own prepared as their images were made
(picture.py). Pure NumPy, pandas and Pillow: no torch."""
