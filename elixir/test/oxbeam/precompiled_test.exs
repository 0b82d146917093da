defmodule Oxbeam.PrecompiledTest do
  # Precompiled NIF libraries end to end (docs/shipping.md), in a fresh Mix project built
  # by the test: the author's `mix oxbeam.precompile`, the artifact published on an
  # HTTP server on 127.0.0.1 started here (:inets' httpd serving a temp dir), and the
  # user's `mix compile`, which downloads, checks, caches and loads it without cargo
  # (seen through a `cargo` shim on PATH that logs every call); each failure's exact
  # message; and OXBEAM_BUILD=1 / force_build: true building from source.
  use ExUnit.Case, async: false

  alias Oxbeam.Precompiled

  # :inets is out of the code path while Elixir >= 1.15 compiles this file.
  @compile {:no_warn_undefined, [:inets, :httpd]}

  @moduletag :build
  @moduletag timeout: 900_000

  @elixir_dir Path.expand("../..", __DIR__)
  @core_dir Path.expand("../../../nif-core", __DIR__)
  # Shared with build_test.exs, so nif-core is compiled once.
  @target_dir Path.expand("../../_build/oxbeam_build_test_cargo", __DIR__)

  setup_all do
    root =
      Path.join(System.tmp_dir!(), "oxbeam_precompiled_#{System.unique_integer([:positive])}")

    File.rm_rf!(root)
    shim_dir = Path.join(root, "bin")
    www = Path.join(root, "www")
    File.mkdir_p!(shim_dir)
    File.mkdir_p!(www)

    cargo =
      System.find_executable("cargo") ||
        Enum.find([Path.expand("~/.cargo/bin/cargo")], &File.exists?/1) ||
        raise "these tests need cargo"

    log = Path.join(root, "cargo.log")
    File.write!(log, "")
    shim = Path.join(shim_dir, "cargo")

    File.write!(shim, """
    #!/bin/sh
    echo "$*" >> '#{log}'
    exec '#{cargo}' "$@"
    """)

    File.chmod!(shim, 0o755)

    # The artifacts' server: 127.0.0.1 only, a port chosen by the OS. (Elixir >= 1.15
    # leaves :inets out of the test run's code path, as out of a user's compile.)
    if function_exported?(Mix, :ensure_application!, 1),
      do: for(app <- [:inets, :ssl], do: apply(Mix, :ensure_application!, [app]))

    :ok = Application.ensure_started(:inets)

    {:ok, httpd} =
      :inets.start(:httpd,
        port: 0,
        bind_address: {127, 0, 0, 1},
        server_name: ~c"oxbeam-test",
        server_root: String.to_charlist(root),
        document_root: String.to_charlist(www),
        keep_alive_timeout: 5,
        max_body_size: 100_000_000
      )

    port = :httpd.info(httpd)[:port]

    # The same directory over https, with a self-signed certificate no CA store trusts.
    {:ok, _} = Application.ensure_all_started(:ssl)
    cert = Path.join(root, "cert.pem")
    key = Path.join(root, "key.pem")

    {_, 0} =
      System.cmd(
        "openssl",
        ~w(req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1
           -addext subjectAltName=IP:127.0.0.1 -keyout #{key} -out #{cert}),
        stderr_to_stdout: true
      )

    {:ok, httpsd} =
      :inets.start(:httpd,
        port: 0,
        bind_address: {127, 0, 0, 1},
        server_name: ~c"oxbeam-test-tls",
        server_root: String.to_charlist(root),
        document_root: String.to_charlist(www),
        socket_type:
          {:ssl,
           certfile: String.to_charlist(cert),
           keyfile: String.to_charlist(key),
           log_level: :warning}
      )

    tls_port = :httpd.info(httpsd)[:port]

    # A port where nothing listens: opened by the OS, then closed.
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, closed_port} = :inet.port(socket)
    :ok = :gen_tcp.close(socket)

    on_exit(fn ->
      :inets.stop(:httpd, httpd)
      :inets.stop(:httpd, httpsd)
      File.rm_rf!(root)
    end)

    %{
      root: root,
      log: log,
      www: www,
      base_url: "http://127.0.0.1:#{port}/releases/v0.1.0",
      proxy: "http://127.0.0.1:#{port}",
      tls_url: "https://127.0.0.1:#{tls_port}/releases/v0.1.0",
      closed_url: "http://127.0.0.1:#{closed_port}/releases/v0.1.0",
      path: shim_dir <> ":" <> System.get_env("PATH", "")
    }
  end

  # The Mix project `root/<name>` of a library whose module uses `precompiled:`.
  defp project(%{root: root} = context, name) do
    dir = Path.join(root, name)
    module = Macro.camelize(name)
    crate = "#{name}_nif"
    crate_dir = Path.join(dir, "native/#{crate}")
    File.mkdir_p!(Path.join(dir, "lib"))
    File.mkdir_p!(Path.join(crate_dir, "src"))

    File.write!(Path.join(dir, "mix.exs"), """
    defmodule #{module}.MixProject do
      use Mix.Project

      def project do
        [app: :#{name}, version: "0.1.0", deps: [{:oxbeam, path: #{inspect(@elixir_dir)}}]]
      end
    end
    """)

    File.write!(Path.join(crate_dir, "Cargo.toml"), """
    [package]
    name = "#{crate}"
    version = "0.1.0"
    edition = "2021"

    [lib]
    crate-type = ["cdylib"]

    [dependencies]
    oxbeam = { path = #{inspect(@core_dir)} }

    [workspace]
    """)

    File.write!(Path.join(crate_dir, "src/lib.rs"), """
    /// Adds two integers.
    #[oxbeam::nif]
    fn add(a: i64, b: i64) -> i64 {
        a + b
    }

    oxbeam::init!("Elixir.#{module}");
    """)

    project =
      Map.merge(context, %{
        dir: dir,
        module: module,
        name: name,
        crate: crate,
        crate_dir: crate_dir,
        cache: Path.join(root, "cache")
      })

    write_module(project, base_url: context.base_url)
    project
  end

  defp write_module(project, opts) do
    # The version is the package's (as in docs/shipping.md) unless given.
    version = if opts[:version], do: inspect(opts[:version]), else: "version"
    targets = Keyword.get(opts, :targets, [Precompiled.current_target()])
    extra = if opts[:force_build], do: ", force_build: true", else: ""

    File.write!(Path.join(project.dir, "lib/#{project.name}.ex"), """
    defmodule #{project.module} do
      version = Mix.Project.config()[:version]

      use Oxbeam,
        otp_app: :#{project.name},
        crate: "#{project.crate}",
        target_dir: #{inspect(@target_dir)},
        precompiled: [
          base_url: #{inspect(Keyword.fetch!(opts, :base_url))},
          version: #{version},
          targets: #{inspect(targets)}
        ]#{extra}
    end
    """)
  end

  defp mix(project, args, env \\ []) do
    defaults = [
      {"MIX_ENV", "dev"},
      {"PATH", project.path},
      {"OXBEAM_CACHE_DIR", project.cache},
      {"OXBEAM_BUILD", nil},
      # The project builds into its own _build (a test run may set its own).
      {"MIX_BUILD_PATH", nil}
    ]

    # The given variables win.
    env = Enum.uniq_by(env ++ defaults, &elem(&1, 0))

    System.cmd("mix", args, cd: project.dir, stderr_to_stdout: true, env: env)
  end

  defp cargo_runs(project) do
    project.log
    |> File.read!()
    |> String.split("\n")
    |> Enum.count(&String.contains?(&1, "#{project.crate_dir}/Cargo.toml"))
  end

  defp call(project, code) do
    {out, status} = mix(project, ["run", "-e", code])
    {String.trim(out), status}
  end

  @spec_and_doc """
  {:ok, specs} = Code.Typespec.fetch_specs(DemoP)
  [spec] = for {{:add, 2}, [spec]} <- specs, do: spec
  IO.puts(Macro.to_string(Code.Typespec.spec_to_quoted(:add, spec)))
  {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(DemoP)
  IO.puts(for {{:function, :add, 2}, _, _, %{"en" => doc}, _} <- docs, do: doc)
  IO.puts(DemoP.add(40, 2))
  """

  test "mix oxbeam.precompile, then download, checksum, cache and load; each failure; OXBEAM_BUILD=1",
       context do
    p = project(context, "demo_p")
    target = Precompiled.current_target()
    tarball = "libdemo_p_nif-v0.1.0-nif-2.15-#{target}.so.tar.gz"
    url = "#{p.base_url}/#{tarball}"
    out_dir = Path.join(p.root, "out")
    checksum_file = Path.join(p.dir, "checksum-Elixir.DemoP.exs")

    # The author: `mix oxbeam.precompile` (docs/shipping.md) builds in release mode for
    # the target, writes the tarball and the checksum file.
    {out, 0} = mix(p, ["oxbeam.precompile", "--output-dir", out_dir])
    assert out =~ "Wrote #{Path.join(out_dir, tarball)}"
    assert out =~ "Wrote #{checksum_file}"

    [build] =
      p.log
      |> File.read!()
      |> String.split("\n")
      |> Enum.filter(&(&1 =~ "#{p.crate_dir}/Cargo.toml" and &1 =~ "--release"))

    assert build =~ "--target #{target}"
    data = File.read!(Path.join(out_dir, tarball))
    sha = Base.encode16(:crypto.hash(:sha256, data), case: :lower)
    assert File.read!(checksum_file) == "%{\n  #{inspect(tarball)} => \"sha256:#{sha}\",\n}\n"

    inner = String.to_charlist("libdemo_p_nif-v0.1.0-nif-2.15-#{target}.so")
    assert {:ok, [{^inner, _}]} = :erl_tar.extract({:binary, data}, [:memory, :compressed])

    # Published (the upload is a copy to the server's directory).
    published = Path.join([p.www, "releases", "v0.1.0", tarball])
    File.mkdir_p!(Path.dirname(published))
    File.cp!(Path.join(out_dir, tarball), published)

    # Artifacts built by other jobs: the checksum file is written from the published ones.
    written = File.read!(checksum_file)
    File.rm!(checksum_file)
    {out, 0} = mix(p, ["oxbeam.precompile", "DemoP", "--fetch-checksums"])
    assert out =~ "Wrote #{checksum_file} (1 artifacts)"
    assert File.read!(checksum_file) == written

    # ... and it fails, naming them, when some are not published.
    Process.sleep(1100)
    write_module(p, base_url: p.base_url, targets: [target, "riscv64gc-unknown-linux-gnu"])
    {out, status} = mix(p, ["oxbeam.precompile", "DemoP", "--fetch-checksums"])
    assert status != 0
    riscv = "#{p.base_url}/libdemo_p_nif-v0.1.0-nif-2.15-riscv64gc-unknown-linux-gnu.so.tar.gz"

    assert out =~
             "** (Mix) mix oxbeam.precompile --fetch-checksums: 1 of the 2 artifacts of DemoP " <>
               "could not be downloaded (publish them, or remove their targets from " <>
               "precompiled:):\n  #{riscv}: HTTP status 404"

    assert File.read!(checksum_file) == written
    write_module(p, base_url: p.base_url)

    # The user: no Rust sources, no cargo run; the library comes from the server.
    File.rm_rf!(Path.join(p.dir, "_build"))
    File.rename!(Path.join(p.dir, "native"), Path.join(p.dir, "native.off"))
    runs = cargo_runs(p)
    {out, 0} = mix(p, ["compile"])
    assert out =~ "Downloading the precompiled NIF library #{url}"
    refute out =~ "Compiling NIF crate demo_p_nif"
    assert cargo_runs(p) == runs
    assert File.read!(Path.join(p.cache, tarball)) == data

    # The stubs, specs and docs come from the downloaded library's metadata.
    {out, 0} = call(p, @spec_and_doc)
    assert out == "add(integer(), integer()) :: integer()\nAdds two integers.\n42"

    # The cache: with the artifact gone from the server, a fresh build still works.
    File.rm!(published)
    File.rm_rf!(Path.join(p.dir, "_build"))
    {out, 0} = mix(p, ["compile"])
    refute out =~ "Downloading"
    assert {"42", 0} = call(p, "IO.puts(DemoP.add(40, 2))")

    # A release carries the library: it runs with neither cargo nor the server.
    {out, 0} = mix(p, ["release", "--overwrite"], [{"MIX_ENV", "prod"}])
    refute out =~ "Compiling NIF crate demo_p_nif"
    release = Path.join(p.dir, "_build/prod/rel/demo_p/bin/demo_p")

    assert {"42\n", 0} =
             System.cmd("timeout", ["120", release, "eval", "IO.puts(DemoP.add(40, 2))"],
               stderr_to_stdout: true
             )

    assert cargo_runs(p) == runs

    from_source = "or build it from source with OXBEAM_BUILD=1 (needs Rust: https://rustup.rs)"
    who = "precompiled NIF library of DemoP"

    # Not published (HTTP 404), with an empty cache.
    p = %{p | cache: Path.join(p.root, "cache_404")}
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: could not download #{url} for the target #{target}: HTTP status 404; " <>
               "check the base_url: and version: of precompiled: and that the artifact is " <>
               "published there, #{from_source}"

    # Another file published under that name: the checksum does not match.
    bad = data <> "tampered"
    File.write!(published, bad)
    bad_sha = Base.encode16(:crypto.hash(:sha256, bad), case: :lower)
    p = %{p | cache: Path.join(p.root, "cache_mismatch")}
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: the checksum of #{url} (target #{target}) is sha256:#{bad_sha}, but " <>
               "#{checksum_file} expects sha256:#{sha}: the artifact was changed after its " <>
               "checksum was written; publish the artifact `mix oxbeam.precompile` built " <>
               "with that checksum file, #{from_source}"

    refute File.exists?(Path.join(p.cache, tarball))

    # Nothing listens at base_url.
    write_module(p, base_url: p.closed_url)
    closed = "#{p.closed_url}/#{tarball}"
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: could not download #{closed} for the target #{target}: connection " <>
               "refused; check the base_url: and version: of precompiled: and that the " <>
               "artifact is published there, #{from_source}"

    # https: the server's certificate is verified (a self-signed one is refused).
    write_module(p, base_url: p.tls_url)
    tls = "#{p.tls_url}/#{tarball}"
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: could not download #{tls} for the target #{target}: the TLS " <>
               "handshake failed (bad_certificate); check the base_url: and version: of precompiled: and " <>
               "that the artifact is published there, #{from_source}"

    # The message alone: no stack trace of oxbeam's code, no TLS log line.
    refute out =~ "lib/oxbeam/precompiled.ex"
    refute out =~ "Mix.raise"
    refute out =~ "[notice]"

    # A version the checksum file has no entry for.
    write_module(p, base_url: p.base_url, version: "0.2.0")
    other = "libdemo_p_nif-v0.2.0-nif-2.15-#{target}.so.tar.gz"
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: #{checksum_file} has no checksum for #{other} " <>
               "(#{p.base_url}/#{other}, target #{target}); the library's author adds it " <>
               "with `mix oxbeam.precompile`, #{from_source}"

    # The running target is not among the targets.
    write_module(p, base_url: p.base_url, targets: ["riscv64gc-unknown-linux-gnu"])
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: no precompiled artifact for the target #{target} (precompiled " <>
               "targets: riscv64gc-unknown-linux-gnu), so #{url} is not fetched; ask the " <>
               "library's author to add #{target} to targets:, #{from_source}"

    # The checksum file is not shipped.
    write_module(p, base_url: p.base_url)
    File.rename!(checksum_file, checksum_file <> ".off")
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: #{checksum_file} is missing (it holds the checksums of the artifacts " <>
               "at #{url} for the target #{target}); the library's author writes it with " <>
               "`mix oxbeam.precompile` and ships it in the package, #{from_source}"

    # A checksum file that is not a literal map is not run.
    File.write!(checksum_file, ~s|File.write!("ran", "")|)
    {out, status} = mix(p, ["compile", "--force"])
    assert status != 0

    assert out =~
             "#{who}: #{checksum_file} is not a map of file names to \"sha256:<hex>\""

    refute File.exists?(Path.join(p.dir, "ran"))
    File.rename!(checksum_file <> ".off", checksum_file)

    # OXBEAM_BUILD=1: built from source (cargo runs), even with base_url unreachable.
    File.rename!(Path.join(p.dir, "native.off"), Path.join(p.dir, "native"))
    write_module(p, base_url: p.closed_url)
    runs = cargo_runs(p)
    {out, 0} = mix(p, ["compile", "--force"], [{"OXBEAM_BUILD", "1"}])
    assert out =~ "Compiling NIF crate demo_p_nif (cargo build, debug)"
    refute out =~ "Downloading"
    assert cargo_runs(p) == runs + 1
    {out, 0} = call(p, @spec_and_doc)
    assert out == "add(integer(), integer()) :: integer()\nAdds two integers.\n42"

    # force_build: true does the same.
    write_module(p, base_url: p.closed_url, force_build: true)
    {out, 0} = mix(p, ["compile", "--force"])
    assert out =~ "Compiling NIF crate demo_p_nif"
    assert cargo_runs(p) == runs + 2

    # A project using the library as a dependency: the dependency's checksum file is
    # read next to its own mix.exs, the library is downloaded (through HTTP_PROXY:
    # nothing listens at base_url, the proxy serves it), and
    # `OXBEAM_BUILD=1 mix deps.compile demo_p --force` builds it from source.
    write_module(p, base_url: p.closed_url)
    File.cp!(Path.join(out_dir, tarball), published)
    user_dir = Path.join(p.root, "demo_user")
    File.mkdir_p!(user_dir)

    File.write!(Path.join(user_dir, "mix.exs"), """
    defmodule DemoUser.MixProject do
      use Mix.Project

      def project do
        [app: :demo_user, version: "0.1.0", deps: [{:demo_p, path: "../demo_p"}]]
      end
    end
    """)

    user = %{p | dir: user_dir, cache: Path.join(p.root, "cache_user")}
    # A damaged file in the cache is not used: it is downloaded again.
    File.mkdir_p!(user.cache)
    File.write!(Path.join(user.cache, tarball), "damaged")
    {out, 0} = mix(user, ["compile"], [{"HTTP_PROXY", p.proxy}])
    assert out =~ "Downloading the precompiled NIF library #{closed}"
    assert cargo_runs(p) == runs + 2
    assert {"3", 0} = call(user, "IO.puts(DemoP.add(1, 2))")
    assert File.read!(Path.join(user.cache, tarball)) == data

    {out, 0} = mix(user, ["deps.compile", "demo_p", "--force"], [{"OXBEAM_BUILD", "1"}])
    assert out =~ "Compiling NIF crate demo_p_nif"
    assert cargo_runs(p) == runs + 3
    assert {"3", 0} = call(user, "IO.puts(DemoP.add(1, 2))")
  end

  test "invalid precompiled: options: exact errors" do
    assert_raise Mix.Error,
                 "precompiled: of use Oxbeam in M needs base_url: \"https://...\", got: nil",
                 fn -> Precompiled.options!(M, version: "1.0.0") end

    assert_raise Mix.Error,
                 "precompiled: of use Oxbeam in M needs version: \"x.y.z\" (a string), got: 1",
                 fn -> Precompiled.options!(M, base_url: "https://x.test/r", version: 1) end

    assert_raise Mix.Error,
                 "unknown option(s) [:url] in precompiled: of use Oxbeam in M",
                 fn -> Precompiled.options!(M, url: "x") end

    assert_raise Mix.Error,
                 "precompiled: of use Oxbeam in M: targets: must be a list of target " <>
                   "triples, got: []",
                 fn ->
                   Precompiled.options!(M, base_url: "http://h/r/", version: "1", targets: [])
                 end

    assert %{base_url: "http://h/r", version: "1", targets: targets} =
             Precompiled.options!(M, base_url: "http://h/r/", version: "1")

    assert targets == Precompiled.default_targets()
  end

  test "the target triple from the VM's system architecture" do
    cases = [
      {"x86_64-pc-linux-gnu", {:unix, :linux}, "x86_64-unknown-linux-gnu"},
      {"aarch64-unknown-linux-gnu", {:unix, :linux}, "aarch64-unknown-linux-gnu"},
      {"x86_64-alpine-linux-musl", {:unix, :linux}, "x86_64-unknown-linux-musl"},
      {"arm-unknown-linux-gnueabihf", {:unix, :linux}, "arm-unknown-linux-gnueabihf"},
      {"aarch64-apple-darwin22.4.0", {:unix, :darwin}, "aarch64-apple-darwin"},
      {"x86_64-apple-darwin21.6.0", {:unix, :darwin}, "x86_64-apple-darwin"},
      {"amd64-portbld-freebsd13.2", {:unix, :freebsd}, "x86_64-unknown-freebsd"},
      {"win32", {:win32, :nt}, "x86_64-pc-windows-msvc"}
    ]

    for {arch, os, target} <- cases, do: assert(Precompiled.target_from(arch, os, 8) == target)
  end
end
