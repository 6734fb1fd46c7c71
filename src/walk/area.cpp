// area: walk (sources land here)
