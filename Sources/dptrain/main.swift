print("dptrain")
