# The Python bridge benchmark: Oxbeam.Python in process, against an empty dirty NIF
# round trip, CPython's own cost, and a Port-based Python worker doing the same work.
# Run from elixir/oxbeam_python/ with: MIX_ENV=test mix run ../../tests/bench/python/run.exs [OUT.md]
#
# Everything measured is compiled code (the module below): a script's own closures are
# interpreted by erl_eval, which would add microseconds per call to the measured work.
# Ratios are taken per round, measuring the work and its baseline back to back, and
# the median round is reported: this machine's speed drifts by 3× over seconds, which
# a ratio of two separately measured medians would mix into the result.

defmodule Oxbeam.Bench.Python do
  alias Oxbeam.Python, as: Py

  # ns per call of `expression` timed by timeit inside CPython, `number` times, with
  # `globals` (objects) in scope.
  def inside_python(expression, globals, number) do
    code =
      "import timeit\ntimeit.timeit(#{inspect(expression)}, globals=globals(), number=#{number}) / #{number}"

    {t, _} = Py.eval(code, globals)
    Py.decode(t) * 1.0e9
  end

  def noop, do: Oxbeam.Python.NIF.dirty_noop()
  def eval_1_plus_1, do: Py.eval("1 + 1", %{}) |> elem(0) |> Py.decode()
  def sum_global(xs), do: Py.eval("sum(xs)", %{"xs" => xs}) |> elem(0) |> Py.decode()
  def roundtrip(value), do: value |> Py.encode!() |> Py.decode()
  def blob_eval(blob), do: Py.eval("b", %{"b" => blob}) |> elem(0) |> Py.decode()

  def blob_eval_buffer(blob),
    do: Py.eval("b", %{"b" => blob}, binary_as: :buffer) |> elem(0) |> Py.decode()

  # fun's value, computed in a new process (a small heap to collect).
  def in_fresh_process(fun), do: fun |> Task.async() |> Task.await(:infinity)

  def decode_and_collect(object) do
    Py.decode(object)
    :erlang.garbage_collect()
  end

  # The reference for a binary in and out: one allocation and memcpy each way.
  def copy_each_way(blob), do: blob |> :binary.copy() |> :binary.copy()
  def sleep_eval, do: Py.eval("import time\ntime.sleep(0.05)", %{})

  def sleep_8 do
    1..8
    |> Task.async_stream(fn _ -> sleep_eval() end, max_concurrency: 8, timeout: 30_000)
    |> Stream.run()
  end
end

Code.require_file("port_worker_client.exs", __DIR__)
Code.require_file("timing.exs", __DIR__)
alias Oxbeam.Bench.PortWorker
alias Oxbeam.Bench.Timing, as: T
alias Oxbeam.Bench.Python, as: B
alias Oxbeam.Python, as: Py

out_file = List.first(System.argv())
Oxbeam.Test.PythonEnv.init!()

# The environment's own python (sys.executable inside the VM is set to it).
python = Py.eval("import sys\nsys.executable", %{}) |> elem(0) |> Py.decode()

port = PortWorker.open(python)

xs = Enum.to_list(1..100_000)
dict = Map.new(1..10_000, &{"k#{&1}", &1})
blob = :binary.copy(<<1, 2, 3, 4>>, div(10 * 1024 * 1024, 4))
ratio = fn r -> "#{Float.round(r, 2)}×" end

rows = []

# eval("1 + 1") + decode vs an empty dirty NIF round trip, 400 rounds of 100 calls.
{noop, eval_ns, eval_ratio} =
  T.paired(400, fn -> T.time(100, &B.noop/0) end, fn -> T.time(100, &B.eval_1_plus_1/0) end)

port_eval = T.time(20_000, fn -> PortWorker.call(port, 1, "1 + 1") end)
rows = rows ++ [{"empty dirty NIF round trip", noop, nil, nil}]

rows =
  rows ++
    [
      {"eval(\"1 + 1\") + decode", eval_ns, "≤ 2× empty dirty NIF: #{ratio.(eval_ratio)}",
       port_eval}
    ]

# A 100 000-int list as a global, summed, decoded vs sum(xs) inside CPython; and
# CPython's own cost of making the list from machine integers (array.tolist()) and
# summing it, the floor of any design that gives Python a real list of ints.
{_, %{"xs" => xs_object, "a" => array_object}} =
  Py.eval("import array\na = array.array('q', xs)", %{"xs" => xs})

in_python = fn -> B.inside_python("sum(xs)", %{"xs" => xs_object}, 100) end

{sum_in_python, sum_ns, sum_ratio} =
  T.paired(30, in_python, fn -> T.time(10, fn -> B.sum_global(xs) end) end)

{_, floor_ns, floor_ratio} =
  T.paired(30, in_python, fn -> B.inside_python("sum(a.tolist())", %{"a" => array_object}, 10) end)

port_sum = T.time(50, fn -> PortWorker.call(port, 2, PortWorker.pack(xs)) end)
rows = rows ++ [{"sum(xs) alone inside CPython, 100 000 ints", sum_in_python, nil, nil}]

rows =
  rows ++
    [
      {"100 000-int list as a global, summed, decoded", sum_ns,
       "≤ 3× sum inside CPython: #{ratio.(sum_ratio)}", port_sum}
    ]

rows =
  rows ++
    [
      {"CPython alone: sum(a.tolist()), a = array('q') of the 100 000 ints", floor_ns,
       "CPython's own floor: #{ratio.(floor_ratio)} sum", nil}
    ]

# Encode + decode of whole values.
list_ns = T.median(for _ <- 1..5, do: T.time(10, fn -> B.roundtrip(xs) end))

port_list =
  T.median(
    for _ <- 1..5,
        do:
          T.time(10, fn ->
            PortWorker.call(port, 3, PortWorker.pack(xs)) |> PortWorker.unpack()
          end)
  )

rows = rows ++ [{"encode + decode, 100 000-int list", list_ns, "one NIF call each", port_list}]

dict_ns = T.median(for _ <- 1..5, do: T.time(10, fn -> B.roundtrip(dict) end))

port_dict_call = fn ->
  payload = Enum.map(dict, fn {k, v} -> [k, ?\t, Integer.to_string(v), ?\n] end)

  PortWorker.call(port, 4, payload)
  |> String.split("\n", trim: true)
  |> Map.new(fn line ->
    [k, v] = String.split(line, "\t")
    {k, String.to_integer(v)}
  end)
end

port_dict = T.median(for _ <- 1..5, do: T.time(10, port_dict_call))
rows = rows ++ [{"encode + decode, 10 000-key dict", dict_ns, "one NIF call each", port_dict}]

# A 10 MiB binary in and out (eval "b", decode): with the defaults (one memcpy into a
# bytes, the bytes shared back), and as a memoryview (no copy either way); paired with
# a memcpy each way (:binary.copy twice), 15 rounds.
# (Measured in a fresh process, as the other large-data rows: this one holds the
# 100 000-int list and the 10 000-key map, which every garbage collection that a large
# binary triggers would copy.)
copy_base = fn -> T.time(4, fn -> B.copy_each_way(blob) end) end

{copy_ns, blob_ns, blob_ratio} =
  B.in_fresh_process(fn ->
    T.paired(15, copy_base, fn -> T.time(4, fn -> B.blob_eval(blob) end) end)
  end)

{_, buffer_ns, buffer_ratio} =
  B.in_fresh_process(fn ->
    T.paired(15, copy_base, fn -> T.time(4, fn -> B.blob_eval_buffer(blob) end) end)
  end)

port_blob = T.median(for _ <- 1..5, do: T.time(4, fn -> PortWorker.call(port, 5, blob) end))

rows =
  rows ++
    [
      {"reference: a memcpy of 10 MiB each way (:binary.copy twice)", copy_ns, nil, nil},
      {"10 MiB binary in and out (eval), defaults", blob_ns,
       "≤ 1.1× a memcpy each way: #{ratio.(blob_ratio)}", port_blob},
      {"10 MiB binary in and out (eval), binary_as: :buffer", buffer_ns,
       "#{ratio.(buffer_ratio)} a memcpy each way", port_blob}
    ]

# Where decode starts sharing (python-bridge/src/buffer.rs, 64 KiB): a 64 KiB bytes
# (shared) against a 64 KiB bytearray (always copied), paired.
{_, %{"b" => bytes_64k, "a" => bytearray_64k}} =
  Py.eval("b = b'x' * 65536\na = bytearray(b)", %{})

{copied_64k, shared_64k, _} =
  B.in_fresh_process(fn ->
    T.paired(
      100,
      fn -> T.time(100, fn -> Py.decode(bytearray_64k) end) end,
      fn -> T.time(100, fn -> Py.decode(bytes_64k) end) end
    )
  end)

rows =
  rows ++
    [
      {"decode of a 64 KiB bytearray (copied)", copied_64k, nil, nil},
      {"decode of a 64 KiB bytes (shared)", shared_64k, nil, nil}
    ]

# numpy float64 arrays (read-only: shared) at 1 MB and 100 MB, paired; and a writable
# 100 MB one (copied). Each decode is followed by a garbage collection of the calling
# process: a binary counts toward its process's binary heap by its size, so 100 MB
# binaries make the process collect on nearly every call and 1 MB ones rarely, a cost
# of the binary's size that is not a copy; collecting after each call in both rows
# leaves the decode's own cost to compare.
{_, %{"small" => np_small, "big" => np_big, "big_writable" => np_big_writable}} =
  Py.eval(
    """
    import numpy
    small = numpy.ones(125_000)
    small.setflags(write=False)
    big = numpy.ones(12_500_000)
    big.setflags(write=False)
    big_writable = numpy.ones(12_500_000)
    """,
    %{}
  )

{np_small_ns, np_big_ns, np_ratio} =
  B.in_fresh_process(fn ->
    T.paired(
      30,
      fn -> T.time(20, fn -> B.decode_and_collect(np_small) end) end,
      fn -> T.time(20, fn -> B.decode_and_collect(np_big) end) end
    )
  end)

np_copied_ns =
  B.in_fresh_process(fn ->
    T.median(for _ <- 1..5, do: T.time(2, fn -> B.decode_and_collect(np_big_writable) end))
  end)

port_np_small =
  T.median(for _ <- 1..5, do: T.time(10, fn -> PortWorker.call(port, 7, "125000") end))

port_np_big =
  T.median(for _ <- 1..3, do: T.time(1, fn -> PortWorker.call(port, 7, "12500000") end))

rows =
  rows ++
    [
      {"decode + GC, numpy float64 array, 1 MB (read-only: shared)", np_small_ns, nil,
       port_np_small},
      {"decode + GC, numpy float64 array, 100 MB (read-only: shared)", np_big_ns,
       "≤ 2× 1 MB: #{ratio.(np_ratio)}", port_np_big},
      {"decode + GC, numpy float64 array, 100 MB (writable: copied)", np_copied_ns, nil, nil}
    ]

# Concurrency: 8 evals of time.sleep(0.05) at once vs one.
sleep_once = T.median(for _ <- 1..5, do: T.time(1, &B.sleep_eval/0))
sleep_8 = T.median(for _ <- 1..5, do: T.time(1, &B.sleep_8/0))

port_8 =
  T.median(
    for _ <- 1..5, do: T.time(1, fn -> for _ <- 1..8, do: PortWorker.call(port, 6, "") end)
  )

rows = rows ++ [{"one eval of time.sleep(0.05)", sleep_once, nil, nil}]

rows =
  rows ++
    [
      {"8 concurrent evals of time.sleep(0.05)", sleep_8,
       "≈ one: #{ratio.(sleep_8 / sleep_once)} one", port_8}
    ]

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
