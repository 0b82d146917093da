# The Python pool benchmark: Oxbeam.Python.Pool (worker OS processes, each a BEAM node
# with its own interpreter) against Oxbeam.Python in process and against the Port
# worker of tests/bench/python (one python3 process speaking {:packet, 4} frames).
# Run from elixir/oxbeam_python/ with: MIX_ENV=test mix run ../../tests/bench/python_pool/run.exs [OUT.md]
#
# Ratios against the Port worker are taken per round (the pool and the Port worker
# back to back, the median round reported), as in tests/bench/python/run.exs: this
# machine's speed drifts within seconds.

defmodule Oxbeam.Bench.PythonPool do
  alias Oxbeam.Python, as: Py

  def eval_1_plus_1(opts), do: Py.eval("1 + 1", %{}, opts) |> elem(0) |> Py.decode()
  def list_roundtrip(xs, opts), do: Py.eval("xs", %{"xs" => xs}, opts) |> elem(0) |> Py.decode()

  # `total` evals of sum(range(200_000)) from `callers` processes; ns for all.
  def cpu(total, callers, opts) do
    t0 = System.monotonic_time(:nanosecond)

    1..callers
    |> Enum.map(fn _ ->
      Task.async(fn ->
        for _ <- 1..div(total, callers) do
          19_999_900_000 = Py.eval("sum(range(200_000))", %{}, opts) |> elem(0) |> Py.decode()
        end
      end)
    end)
    |> Enum.each(&Task.await(&1, :infinity))

    System.monotonic_time(:nanosecond) - t0
  end
end

Code.require_file("../python/port_worker_client.exs", __DIR__)
Code.require_file("../python/timing.exs", __DIR__)
alias Oxbeam.Bench.PortWorker
alias Oxbeam.Bench.Timing, as: T
alias Oxbeam.Bench.PythonPool, as: B
alias Oxbeam.Python, as: Py

out_file = List.first(System.argv())
Oxbeam.Test.PythonEnv.init!()
Oxbeam.Test.Peers.distribute!()
{:ok, _} = Oxbeam.Python.Pool.start_link(name: BenchPool2, size: 2)
{:ok, _} = Oxbeam.Python.Pool.start_link(name: BenchPool1, size: 1)

python = Py.eval("import sys\nsys.executable", %{}) |> elem(0) |> Py.decode()

port = PortWorker.open(python)

fmt = fn
  nil -> "—"
  ns when ns >= 1.0e6 -> "#{Float.round(ns / 1.0e6, 2)} ms"
  ns when ns >= 1.0e3 -> "#{Float.round(ns / 1.0e3, 2)} µs"
  ns -> "#{Float.round(ns * 1.0, 1)} ns"
end

ratio = fn r -> "#{Float.round(r, 2)}×" end
pool2 = [pool: BenchPool2]
pool1 = [pool: BenchPool1]

# Warm up (code loading, compile caches on the workers).
for _ <- 1..200, do: B.eval_1_plus_1(pool2)

# eval("1 + 1") + decode: pool vs Port worker, paired; in process alone.
{port_eval, pool_eval, eval_vs_port} =
  T.paired(
    60,
    fn -> T.typical(50, fn -> PortWorker.call(port, 1, "1 + 1") end) end,
    fn -> T.typical(50, fn -> B.eval_1_plus_1(pool2) end) end
  )

local_eval = T.median(for _ <- 1..20, do: T.typical(200, fn -> B.eval_1_plus_1([]) end))

# Distribution messages per eval("1 + 1") + decode, counted on the sockets (send_cnt:
# one per message) to and from the pool's workers, 1000 calls: they do not depend on
# the machine's load. (The :erpc calls that read the workers' counts are 1 message out
# and 2 back each, 1 of them between the two reads: subtracted.)
workers = Oxbeam.Python.Pool.workers(BenchPool2) |> Keyword.keys()

dist_port = fn on, to ->
  {^to, port} = List.keyfind(:erpc.call(on, :erlang, :system_info, [:dist_ctrl]), to, 0)
  port
end

sent = fn on, port ->
  {:ok, [send_cnt: n]} = :erpc.call(on, :inet, :getstat, [port, [:send_cnt]])
  n
end

ports = for w <- workers, do: {w, dist_port.(node(), w), dist_port.(w, node())}
out0 = Enum.sum(for {_, here, _} <- ports, do: sent.(node(), here))
back0 = Enum.sum(for {w, _, there} <- ports, do: sent.(w, there))
for _ <- 1..1000, do: B.eval_1_plus_1(pool2)
back1 = Enum.sum(for {w, _, there} <- ports, do: sent.(w, there))
out1 = Enum.sum(for {_, here, _} <- ports, do: sent.(node(), here))
messages_out = (out1 - out0 - 2 * length(workers)) / 1000
messages_back = (back1 - back0 - 2 * length(workers)) / 1000

# The floor of any call to a worker: one Erlang distribution round trip (:erpc of
# node/0), paired with the Port worker's round trip.
[{worker_node, _} | _] = Oxbeam.Python.Pool.workers(BenchPool2)

{port_rt, erpc_rt, erpc_vs_port} =
  T.paired(
    60,
    fn -> T.typical(50, fn -> PortWorker.call(port, 1, "1") end) end,
    fn -> T.typical(50, fn -> :erpc.call(worker_node, :erlang, :node, []) end) end
  )

# 100 000-int list in and out: pool vs Port worker, paired; in process alone.
xs = Enum.to_list(1..100_000)

{port_list, pool_list, list_vs_port} =
  T.paired(
    15,
    fn ->
      T.time(4, fn -> PortWorker.call(port, 3, PortWorker.pack(xs)) |> PortWorker.unpack() end)
    end,
    fn -> T.time(4, fn -> B.list_roundtrip(xs, pool2) end) end
  )

local_list = T.median(for _ <- 1..5, do: T.time(4, fn -> B.list_roundtrip(xs, []) end))

# CPU-bound: sum(range(200_000)) × 400 from 4 callers, 5 rounds of in process, pool of
# 2 and pool of 1 back to back (the order rotating): each round's throughput ratios,
# and their medians (the machine's speed drifts from one round to the next).
cpu_rounds =
  for round <- 0..4 do
    order = Enum.take(Stream.drop(Stream.cycle([:local, :pool2, :pool1]), round), 3)
    opts = %{local: [], pool2: pool2, pool1: pool1}
    Map.new(order, fn which -> {which, B.cpu(400, 4, opts[which])} end)
  end

cpu_local = T.median(Enum.map(cpu_rounds, & &1.local))
cpu_pool2 = T.median(Enum.map(cpu_rounds, & &1.pool2))
cpu_pool1 = T.median(Enum.map(cpu_rounds, & &1.pool1))
cpu_ratio2 = T.median(Enum.map(cpu_rounds, &(&1.local / &1.pool2)))
cpu_ratio1 = T.median(Enum.map(cpu_rounds, &(&1.local / &1.pool1)))

rows = [
  {"one distribution round trip to a worker (:erpc of node/0); Port: one eval round trip", nil,
   erpc_rt, "the floor of a pool call: #{ratio.(erpc_vs_port)} Port worker", port_rt},
  {"eval(\"1 + 1\") + decode", local_eval, pool_eval,
   "≤ 3× Port worker: #{ratio.(eval_vs_port)}; #{ratio.(pool_eval / local_eval)} in process",
   port_eval},
  {"distribution messages per eval(\"1 + 1\") + decode (counted on the sockets)", nil, nil,
   "#{Float.round(messages_out, 2)} to the worker, #{Float.round(messages_back, 2)} back", nil},
  {"100 000-int list in and out (eval(\"xs\") + decode)", local_list, pool_list,
   "≤ 1× Port worker: #{ratio.(list_vs_port)}; #{ratio.(pool_list / local_list)} in process",
   port_list},
  {"sum(range(200_000)) × 400, 4 callers, pool of 2", cpu_local, cpu_pool2,
   "≥ 1.8× in-process throughput: #{ratio.(cpu_ratio2)}", nil},
  {"sum(range(200_000)) × 400, 4 callers, pool of 1", cpu_local, cpu_pool1,
   "throughput #{ratio.(cpu_ratio1)} in process", nil}
]

table =
  Enum.join(
    [
      "| work | in process | pool | target / ratio | Port worker (one python3 process) |",
      "|---|---|---|---|---|"
      | for {label, local, pool, note, port_ns} <- rows do
          "| #{label} | #{fmt.(local)} | #{fmt.(pool)} | #{note} | #{fmt.(port_ns)} |"
        end
    ],
    "\n"
  )

IO.puts(table)
Port.close(port)
if out_file, do: File.write!(out_file, table <> "\n")
