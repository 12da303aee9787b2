print("quantcheck")
