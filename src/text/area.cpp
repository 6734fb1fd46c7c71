// area: text (sources land here)
