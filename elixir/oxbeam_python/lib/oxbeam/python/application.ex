defmodule Oxbeam.Python.Application do
  @moduledoc false
  # Starts the Python environment configured at compile time
  # (`config :oxbeam_python, :uv_init, pyproject_toml: ...`), if any.
  use Application

  @impl true
  def start(_type, _args) do
    :ok = Oxbeam.Python.__init_configured__()
    Supervisor.start_link([], strategy: :one_for_one, name: Oxbeam.Python.Supervisor)
  end
end
