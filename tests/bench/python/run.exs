# The Python bridge benchmark: Oxbeam.Python in process, against an empty dirty NIF
# round trip, CPython's own cost, and a Port-based Python worker doing the same work.
# Run from elixir/ with: MIX_ENV=test mix run ../tests/bench/python/run.exs [OUT.md]
alias Oxbeam.Python, as: Py

out_file = List.first(System.argv())
Oxbeam.Test.PythonEnv.init!()

median = fn xs -> xs |> Enum.sort() |> Enum.at(div(length(xs), 2)) end

# ns per call of fun, median of 5 runs of n calls.
measure = fn n, fun ->
  for _ <- 1..5 do
    t0 = System.monotonic_time(:nanosecond)
    for _ <- 1..n, do: fun.()
    (System.monotonic_time(:nanosecond) - t0) / n
  end
  |> median.()
end

{python, _} = Oxbeam.Python.NIF.python_info()
worker = Path.expand("port_worker.py", __DIR__)
port = Port.open({:spawn_executable, python}, [:binary, {:packet, 4}, :exit_status, args: ["-u", worker]])

call_port = fn op, payload ->
  send(port, {self(), {:command, [op, payload]}})

  receive do
    {^port, {:data, data}} -> data
  end
end

pack = fn xs -> for x <- xs, into: <<>>, do: <<x::little-signed-64>> end
unpack = fn bin -> for <<x::little-signed-64 <- bin>>, do: x end

xs = Enum.to_list(1..100_000)
dict = Map.new(1..10_000, &{"k#{&1}", &1})
blob = :binary.copy(<<1, 2, 3, 4>>, div(10 * 1024 * 1024, 4))

rows = []

# eval("1 + 1") + decode vs an empty dirty NIF round trip.
noop = measure.(20_000, fn -> Oxbeam.Python.NIF.dirty_noop() end)
eval_ns = measure.(20_000, fn -> Py.eval("1 + 1", %{}) |> elem(0) |> Py.decode() end)
port_eval = measure.(20_000, fn -> call_port.(1, "1 + 1") end)
rows = rows ++ [{"empty dirty NIF round trip", noop, nil, nil}]
rows = rows ++ [{"eval(\"1 + 1\") + decode", eval_ns, "≤ 3× empty dirty NIF: #{Float.round(eval_ns / noop, 2)}×", port_eval}]

# A 100 000-int list as a global, summed, decoded vs sum(xs) inside CPython.
{_, %{"xs" => xs_object}} = Py.eval("pass", %{"xs" => xs})
{t, _} = Py.eval("import timeit\ntimeit.timeit(lambda: sum(xs), number=200) / 200", %{"xs" => xs_object})
sum_in_python = Py.decode(t) * 1.0e9
sum_ns = measure.(50, fn -> Py.eval("sum(xs)", %{"xs" => xs}) |> elem(0) |> Py.decode() end)
port_sum = measure.(50, fn -> call_port.(2, pack.(xs)) end)
rows = rows ++ [{"sum(xs) alone inside CPython, 100 000 ints", sum_in_python, nil, nil}]
rows = rows ++ [{"100 000-int list as a global, summed, decoded", sum_ns, "≤ 3× sum inside CPython: #{Float.round(sum_ns / sum_in_python, 2)}×", port_sum}]

# Encode + decode of whole values.
list_ns = measure.(50, fn -> xs |> Py.encode!() |> Py.decode() end)
port_list = measure.(50, fn -> call_port.(3, pack.(xs)) |> unpack.() end)
rows = rows ++ [{"encode + decode, 100 000-int list", list_ns, "one NIF call each", port_list}]

dict_ns = measure.(50, fn -> dict |> Py.encode!() |> Py.decode() end)

port_dict =
  measure.(50, fn ->
    payload = Enum.map(dict, fn {k, v} -> [k, ?\t, Integer.to_string(v), ?\n] end)

    call_port.(4, payload)
    |> String.split("\n", trim: true)
    |> Map.new(fn line -> [k, v] = String.split(line, "\t"); {k, String.to_integer(v)} end)
  end)

rows = rows ++ [{"encode + decode, 10 000-key dict", dict_ns, "one NIF call each", port_dict}]

blob_ns = measure.(20, fn -> Py.eval("b", %{"b" => blob}) |> elem(0) |> Py.decode() end)
port_blob = measure.(20, fn -> call_port.(5, blob) end)
rows = rows ++ [{"10 MiB binary in and out (eval)", blob_ns, nil, port_blob}]

# Concurrency: 8 evals of time.sleep(0.05) at once vs one.
sleep_once = measure.(5, fn -> Py.eval("import time\ntime.sleep(0.05)", %{}) end)

sleep_8 =
  measure.(5, fn ->
    1..8 |> Task.async_stream(fn _ -> Py.eval("import time\ntime.sleep(0.05)", %{}) end, max_concurrency: 8) |> Stream.run()
  end)

port_8 =
  measure.(5, fn -> for _ <- 1..8, do: call_port.(6, "") end)

rows = rows ++ [{"one eval of time.sleep(0.05)", sleep_once, nil, nil}]
rows = rows ++ [{"8 concurrent evals of time.sleep(0.05)", sleep_8, "≈ one: #{Float.round(sleep_8 / sleep_once, 2)}× one", port_8}]

fmt = fn
  nil -> "—"
  ns when ns >= 1.0e6 -> "#{Float.round(ns / 1.0e6, 2)} ms"
  ns when ns >= 1.0e3 -> "#{Float.round(ns / 1.0e3, 2)} µs"
  ns -> "#{Float.round(ns * 1.0, 1)} ns"
end

table =
  Enum.join(
    [
      "| work | Oxbeam.Python | target / ratio | Port worker (one python3 process) |",
      "|---|---|---|---|"
      | for {label, ns, note, port_ns} <- rows do
          "| #{label} | #{fmt.(ns)} | #{note || ""} | #{fmt.(port_ns)} |"
        end
    ],
    "\n"
  )

IO.puts(table)
Port.close(port)
if out_file, do: File.write!(out_file, table <> "\n")
