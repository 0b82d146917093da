defmodule Oxbeam.NIF.AllocatorTest do
  # The global allocator `init!` installs (nif-core/src/alloc.rs): small blocks cached
  # per scheduler thread and library image, within a budget, released when the image
  # is unloaded; a double free or a write after free aborts the VM. Everything runs in
  # child VMs: a hot upgrade replaces the conformance module, and misuse kills the VM.
  use ExUnit.Case, async: true
  alias Oxbeam.Test.NifChild

  # 2 normal, 2 dirty CPU and 2 dirty I/O schedulers: six threads that may cache.
  @vm_args ["--erl", "+S 2 +SDcpu 2 +SDio 2"]

  @churn ~S"""
  alias Oxbeam.Test.Conformance, as: NIF

  churn = fn blocks ->
    for _ <- 1..6, f <- [:alloc_churn, :alloc_churn_dirty_cpu, :alloc_churn_dirty_io] do
      Task.async(fn -> apply(NIF, f, [blocks]) end)
    end
    |> Enum.map(&Task.await(&1, 30_000))
    |> Enum.uniq()
    |> then(fn [bytes] -> bytes end)
  end
  """

  test "each scheduler thread keeps at most the budget, and work across threads is intact" do
    {out, 0} =
      NifChild.run(
        @churn <>
          ~S"""
          IO.puts("churn #{churn.(4000)}")
          IO.puts("across #{NIF.alloc_across_threads(3000)}")
          cached = for _ <- 1..50, do: NIF.alloc_cached_bytes()
          IO.puts("within budget #{Enum.all?(cached, &(&1 <= 64 * 1024))}")
          IO.puts("some cached #{Enum.any?(cached, &(&1 > 0))}")
          """,
        vm_args: @vm_args
      )

    # 4000 sizes 1 + (i * 37) rem 1032: 2 061 808 bytes; 3000 blocks of 1..500 bytes on
    # each side: 2 * 751 500.
    assert out == "churn 2061808\nacross 1503000\nwithin budget true\nsome cached true\n"
  end

  @tag :tmp_dir
  test "hot upgrades and purges release every unloaded image's cached blocks", %{
    tmp_dir: tmp_dir
  } do
    {out, 0} =
      NifChild.run(
        @churn <>
          ~S"""
          import Oxbeam.Test.Eventually
          tmp = System.fetch_env!("ALLOC_TEST_DIR")
          library = Oxbeam.Test.NifChild.conformance_library()

          # Upgrade to a new image (a copy: dlopen maps it anew), purge the old one and
          # wait for its unload.
          cycle = fn i, work ->
            copy = Path.join(tmp, "liboxbeam_conformance-#{i}.so")
            File.cp!(library, copy)
            :ok = Oxbeam.Test.NifStubs.reload(NIF, copy, {:greeting, "upgrade"})
            work.()
            marker = Path.join(tmp, "unloaded-#{i}")
            System.put_env("OXBEAM_TEST_UNLOAD_MARKER", marker)
            # A worker may still be inside the old image's code for a moment.
            true = eventually(fn -> :code.soft_purge(NIF) end)
            true = eventually(fn -> File.exists?(marker) end)
          end

          # Processes that keep allocating (normal and dirty schedulers) through the
          # upgrades and unloads; each says how many calls it made when stopped.
          worker = fn f ->
            spawn_link(fn ->
              loop = fn loop, n ->
                receive do
                  {:stop, from} -> send(from, {:calls, n})
                after
                  0 ->
                    151_998 = apply(NIF, f, [300])
                    Process.sleep(1)
                    loop.(loop, n + 1)
                end
              end

              loop.(loop, 0)
            end)
          end

          churn.(600)
          # What five upgrades leave in malloc by themselves (the VM's and the loader's
          # share), then five more where every scheduler thread fills its cache in each
          # image while workers allocate through the upgrades (the last one without
          # work, so that no image with a full cache is left loaded).
          start = NIF.alloc_malloc_in_use()
          for i <- 1..5, do: cycle.(i, fn -> :ok end)
          middle = NIF.alloc_malloc_in_use()
          workers = for f <- [:alloc_churn, :alloc_churn_dirty_cpu, :alloc_churn_dirty_io], do: worker.(f)
          for i <- 6..9, do: cycle.(i, fn -> churn.(600); NIF.alloc_across_threads(1000) end)

          calls =
            for w <- workers do
              send(w, {:stop, self()})

              receive do
                {:calls, made} -> made
              end
            end

          cycle.(10, fn -> :ok end)
          plain = middle - start
          churned = NIF.alloc_malloc_in_use() - middle

          IO.puts("kept by cached blocks below one budget: #{churned - plain < 64 * 1024}")
          IO.puts("workers ran: #{Enum.all?(calls, &(&1 > 0))}")
          IO.puts("still working #{churn.(600)}")
          IO.puts("(#{churned} - #{plain})")
          """,
        vm_args: @vm_args,
        env: [{"ALLOC_TEST_DIR", tmp_dir}],
        timeout_s: 50
      )

    # Without the release at unload, each churned image keeps up to six threads'
    # budgets (6 * 64 KiB) for good: churned - plain was +0.73 and +1.09 MB that way,
    # -0.87 MB with it (the plain upgrades themselves leave about 370 KB each in malloc).
    assert out =~
             ~r/\Akept by cached blocks below one budget: true\nworkers ran: true\nstill working 305796\n\(-?\d+ - -?\d+\)\n\z/
  end

  # Another malloc put in with LD_PRELOAD (jemalloc rounds 17..24-byte blocks to 24 and
  # 1..8 to 8, not to glibc's 24): the load-time check turns the cache off, and
  # everything still works. (Debian package libjemalloc2; skipped without it.)
  @jemalloc "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
  @tag skip: not File.exists?(@jemalloc) && "libjemalloc2 is not installed"
  test "under a malloc that rounds less than glibc nothing is cached" do
    {out, 0} =
      NifChild.run(
        ~S"""
        alias Oxbeam.Test.Conformance, as: NIF
        IO.puts("churn #{NIF.alloc_churn(4000)} #{NIF.alloc_churn_dirty_cpu(4000)}")
        IO.puts("across #{NIF.alloc_across_threads(3000)}")
        IO.puts("cached #{Enum.max(for _ <- 1..20, do: NIF.alloc_cached_bytes())}")
        """,
        vm_args: @vm_args,
        env: [{"LD_PRELOAD", @jemalloc}]
      )

    assert out == "churn 2061808 2061808\nacross 1503000\ncached 0\n"
  end

  test "a double free of a small block aborts the VM with a message" do
    {out, status} = NifChild.run("Oxbeam.Test.Conformance.alloc_double_free()", vm_args: @vm_args)

    assert status == 134
    assert out =~ "oxbeam BeamAllocator: double free of a small block detected\n"
  end

  test "a write to a freed small block is caught before its link is followed" do
    {out, status} =
      NifChild.run("Oxbeam.Test.Conformance.alloc_write_after_free()", vm_args: @vm_args)

    assert status == 134

    assert out =~
             "oxbeam BeamAllocator: a free block was written to after it was freed (its link is broken)\n"
  end
end
