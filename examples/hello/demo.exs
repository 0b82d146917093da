# Run with: mix run demo.exs
IO.puts("Hello.add(40, 2)         = #{Hello.add(40, 2)}")
IO.puts("Hello.greet(\"José\")      = #{Hello.greet("José")}")
IO.puts("Hello.sum(Enum.to_list(1..100)) = #{Hello.sum(Enum.to_list(1..100))}")

IO.puts(
  "Hello.scale(%Hello.Point{x: 1.0, y: 2.0}, 3) = #{inspect(Hello.scale(%Hello.Point{x: 1.0, y: 2.0}, 3))}"
)

try do
  Hello.sum([1, 2, :three])
rescue
  e in ArgumentError -> IO.puts("Hello.sum([1, 2, :three]) raised: #{Exception.message(e)}")
end
