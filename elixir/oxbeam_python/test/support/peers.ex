defmodule Oxbeam.Test.Peers do
  @moduledoc """
  Real peer nodes (OTP's `:peer`) for the remote evaluation and pool tests: this VM is
  made distributed (once), and each peer gets this project's code paths and, when
  asked, an interpreter initialized with this VM's Python.
  """

  @doc "Makes this VM a distributed node (longnames on 127.0.0.1) if it is not one."
  def distribute! do
    if not Node.alive?() do
      {_, 0} = System.cmd("epmd", ["-daemon"])
      name = :"oxbeam_py_#{System.unique_integer([:positive])}@127.0.0.1"
      {:ok, _} = Node.start(name, :longnames)
    end

    :ok
  end

  @doc "Starts a peer node; with `python: true`, initializes Python there. `{peer, node}`."
  def start!(opts \\ []) do
    distribute!()

    {:ok, peer, node} =
      :peer.start(%{
        name: :"peer_#{System.unique_integer([:positive])}",
        host: ~c"127.0.0.1",
        longnames: true,
        # Hidden: stopping one peer does not make `global` disconnect the others.
        args: [~c"-hidden" | Enum.flat_map(:code.get_path(), &[~c"-pa", &1])]
      })

    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:oxbeam_python])

    if Keyword.get(opts, :python, true) do
      python = :persistent_term.get({Oxbeam.Python, :executable})
      :ok = :erpc.call(node, Oxbeam.Python, :init, [python], 60_000)
    end

    {peer, node}
  end

  @doc """
  Run on a peer: a process there holds the result of a remote_eval of `code` on
  `owner` (for ever); returns it decoded.
  """
  def hold_remote_result(owner, code) do
    parent = self()

    spawn(fn ->
      {result, _} = Oxbeam.Python.remote_eval(owner, code, %{})
      send(parent, {:held, Oxbeam.Python.decode(result)})
      # Holds result for ever.
      receive do
        :never -> result
      end
    end)

    receive do
      {:held, value} -> value
    end
  end

  @doc """
  Run on a peer (as a FLAME runner would): evaluates `code` and returns the result, a
  plain local object there, kept alive by a process until it gets `:stop`.
  `{object, keeper}`.
  """
  def eval_and_keep(code) do
    {object, _} = Oxbeam.Python.eval(code, %{})

    keeper =
      spawn(fn ->
        receive do
          :stop -> object
        end
      end)

    {object, keeper}
  end

  @doc "How many objects `node` holds for other nodes."
  def held(node), do: :erpc.call(node, Oxbeam.Python.Remote.Tracker, :count, [])
end
