[inputs: ["{mix,.formatter}.exs", "config/*.exs", "{lib,test}/**/*.{ex,exs}", "demo.exs"]]
