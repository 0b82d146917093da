defmodule Oxbeam.MixProject do
  use Mix.Project

  def project do
    [
      app: :oxbeam,
      version: "0.1.0",
      elixir: "~> 1.14",
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      deps: [],
      # Used at compile time only, by precompiled: (Oxbeam.Precompiled): not started
      # with the user's application.
      xref: [exclude: [:httpc, :inets, :public_key, :crypto]],
      docs: [main: "Oxbeam"]
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
