defmodule Hello.MixProject do
  use Mix.Project

  def project do
    [
      app: :hello,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps()
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  # In your own project: {:oxbeam, path: "path/to/oxbeam/elixir"} (or a git dependency).
  # Only NIFs here: no :oxbeam_python, so building needs no Python and no pyo3.
  defp deps do
    [{:oxbeam, path: "../../elixir"}]
  end
end
