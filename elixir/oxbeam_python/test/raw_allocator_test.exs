defmodule Oxbeam.Python.RawAllocatorTest do
  # Paired with python-bridge/src/raw_alloc.rs: Python's raw memory domain sends
  # blocks from 120 KiB on to the VM's allocator, which reuses its carriers, where
  # glibc malloc would mmap fresh pages for each one inside the BEAM. "Reused" is
  # checked by counting the page faults of this VM (load-independent), never by timings;
  # Python's behaviour with the allocator by running code that exercises every entry
  # point (malloc, calloc, realloc both ways and across the threshold, frees on other
  # threads), here and on each CPython 3.10-3.13 in a child VM.
  use ExUnit.Case, async: false
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Python.NIF
  alias Oxbeam.Test.HazardChild

  @moduletag timeout: 600_000

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp run(code, globals \\ %{}), do: code |> Py.eval(globals) |> elem(0) |> Py.decode()

  # Minor page faults of this OS process so far (field 10 of /proc/self/stat).
  defp minor_faults do
    [_, after_name] = "/proc/self/stat" |> File.read!() |> String.split(") ", parts: 2)
    after_name |> String.split(" ") |> Enum.at(7) |> String.to_integer()
  end

  @mib 1024 * 1024

  test "a 10 MiB binary in and out reuses memory: no page fault per 4 KiB each round" do
    blob = :binary.copy(<<1, 2, 3, 4>>, div(10 * @mib, 4))
    rounds = 40

    faults =
      Task.async(fn ->
        round_trip = fn ->
          binary = Py.eval("b", %{"b" => blob}) |> elem(0) |> Py.decode()
          ^blob = binary
          # The binary (and with it the bytes) is dropped before the next round.
          :erlang.garbage_collect()
        end

        # Warm up: the VM's carriers for this size exist after the first rounds.
        for _ <- 1..3, do: round_trip.()
        before = minor_faults()
        for _ <- 1..rounds, do: round_trip.()
        minor_faults() - before
      end)
      |> Task.await(300_000)

    # Fresh pages for each new bytes fault 2560 times per round (4 KiB pages), or ~517
    # with transparent huge pages where 2 MiB-aligned ranges allow them (10340 in 20
    # rounds before raw_alloc.rs). Reused memory faults ~0 per round; the bound leaves
    # room for the VM to have given up a cached carrier or two meanwhile (2561 faults
    # each; the VM ages its cache), which other tests' large blocks can cause.
    assert faults < rounds * 256, "#{faults} page faults in #{rounds} rounds"
  end

  test "the allocator is installed and Python's large blocks come from the VM" do
    {true, made_before, freed_before} = NIF.raw_allocator_info()

    # A 5 MiB bytes held by a process that then exits: made by the VM's allocator, and
    # given back to it once the Object is collected (through the decref thread).
    {pid, ref} =
      spawn_monitor(fn ->
        {bytes, _} = Py.eval("bytes(5 * 1024 * 1024)", %{})
        {true, made_after, _} = NIF.raw_allocator_info()
        true = made_after > made_before
        byte_size(Py.decode(bytes))
      end)

    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 30_000

    assert Oxbeam.Test.Eventually.eventually(fn ->
             {_, _, freed_after} = NIF.raw_allocator_info()
             freed_after > freed_before
           end)
  end

  # Every entry point of the raw domain, through Python code; each check is named so a
  # failure says which. Runs on any CPython (no third-party module).
  @workload """
  import threading, hashlib, zlib
  checks = {}
  N = 10 * 1024 * 1024

  # calloc: zeroed, also when it reuses the memory of a freed block that was not.
  junk = b'\\xff' * N
  del junk
  z = bytes(N)
  checks['calloc zeroed'] = z.count(0) == N
  del z
  checks['calloc of 0'] = bytes(0) == b''

  # realloc: a bytearray grown byte by byte across the 120 KiB threshold, then shrunk
  # back below it; contents kept at every step.
  ba = bytearray()
  for i in range(300_000):
      ba.append(i % 251)
  checks['realloc growing'] = len(ba) == 300_000 and all(ba[i] == i % 251 for i in range(0, 300_000, 997))
  del ba[1000:]
  checks['realloc shrinking'] = bytes(ba) == bytes(i % 251 for i in range(1000))
  ba.extend(b'x' * (3 * N))
  checks['realloc large to larger'] = len(ba) == 1000 + 3 * N and ba[-1] == ord('x') and ba[999] == 999 % 251
  del ba

  # Large and many blocks: lists, dicts, strings, compressed data (realloc'd buffers).
  xs = list(range(2_000_000))
  xs.extend(range(1_000_000))
  checks['large list'] = sum(xs) == sum(range(2_000_000)) + sum(range(1_000_000))
  d = {i: str(i) for i in range(200_000)}
  checks['large dict'] = len(d) == 200_000 and d[199_999] == '199999'
  s = 'é' * (4 * 1024 * 1024)
  checks['large str'] = len(s.encode('utf-8')) == 8 * 1024 * 1024
  data = bytes(range(256)) * 40_000
  checks['zlib round trip'] = zlib.decompress(zlib.compress(data)) == data
  del xs, d, s, data

  # Threads: blocks made on this (scheduler) thread freed on Python threads, and
  # blocks made on Python threads freed here.
  shared = [bytes([i]) * (1 << 20) for i in range(16)]
  digests = []
  def consume():
      while True:
          try:
              b = shared.pop()
          except IndexError:
              return
          digests.append(hashlib.sha256(b).hexdigest())
          del b
  made_by_threads = []
  def produce(k):
      for _ in range(4):
          made_by_threads.append(bytes([k]) * (3 << 20))
  threads = [threading.Thread(target=consume) for _ in range(2)]
  threads += [threading.Thread(target=produce, args=(k,)) for k in range(4)]
  for t in threads: t.start()
  for t in threads: t.join()
  checks['frees on Python threads'] = not shared and len(digests) == 16
  checks['blocks made on Python threads'] = sorted(b[0] for b in made_by_threads) == sorted([0, 1, 2, 3] * 4)
  del made_by_threads

  sorted(name for name, ok in checks.items() if not ok)
  """

  test "Python works with the allocator: calloc, realloc, large blocks, other threads" do
    assert run(@workload) == []
  end

  test "numpy works with the allocator" do
    result =
      run("""
      import numpy as np
      a = np.arange(5_000_000, dtype=np.float64)
      b = a.tobytes()
      c = np.frombuffer(b, dtype=np.float64).copy()
      objects = np.array([str(i) for i in range(300_000)], dtype=object)
      grown = np.concatenate([a, a])
      (float(c.sum()) == float(a.sum()), len(objects.tolist()), grown.shape[0], a.reshape(1000, 5000).T.copy().shape)
      """)

    assert result == {true, 300_000, 10_000_000, {5000, 1000}}
  end

  for minor <- 10..13 do
    test "Python 3.#{minor} works with the allocator (child VM)" do
      minor = unquote(minor)

      script = """
      {version, _} = Oxbeam.Python.eval("import sys\\ntuple(sys.version_info[:2])", %{})
      {failed, _} = Oxbeam.Python.eval(#{inspect(@workload)}, %{})
      {active, made, freed} = Oxbeam.Python.NIF.raw_allocator_info()

      IO.inspect({Oxbeam.Python.decode(version), Oxbeam.Python.decode(failed), active,
                  made > 0, freed > 0})
      """

      assert {output, 0} = HazardChild.run(script, python_minor: minor, timeout: 240)
      assert output =~ ~s|{{3, #{minor}}, [], true, true, true}|
    end
  end

  test "PYTHONMALLOC set: the allocator the user chose is left alone (child VM)" do
    script = """
    Oxbeam.Python.init(#{inspect(HazardChild.python())})
    {failed, _} = Oxbeam.Python.eval(#{inspect(@workload)}, %{})
    IO.inspect({Oxbeam.Python.decode(failed), Oxbeam.Python.NIF.raw_allocator_info()})
    """

    # (os:putenv inside the child would not reach the C environment Python reads.)
    path =
      Path.join(System.tmp_dir!(), "oxbeam-raw-alloc-#{System.unique_integer([:positive])}.exs")

    File.write!(path, script)

    try do
      assert {output, 0} =
               Oxbeam.Test.ChildVM.cmd(
                 "elixir",
                 Oxbeam.Test.ChildVM.code_path_args() ++ [path],
                 timeout: 120,
                 env: [{"PYTHONMALLOC", "malloc"}]
               )

      assert output =~ "{[], {false, 0, 0}}"
    after
      File.rm(path)
    end
  end
end
