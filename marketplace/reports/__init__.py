"""The city's e-commerce statistics (电子商务统计报表): definitions, figures, charts, exports, consoles and the API."""
