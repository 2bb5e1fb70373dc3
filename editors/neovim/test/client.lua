-- Driven by editors/neovim/test/run: Neovim, configured by the README's
-- init.lua alone, against `topoc lsp`. Prints one line per check and a
-- closing "N passed, N failed"; exits non-zero when a check failed.
local repo = os.getenv("TOPOC_REPO")
local passed, failed = 0, 0
local function out(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end
local function check(name, ok, detail)
  detail = detail and tostring(detail):gsub("%s*\n%s*", " | ")
  if ok then
    passed = passed + 1
    out("ok      " .. name .. (detail and (" (" .. detail .. ")") or ""))
  else
    failed = failed + 1
    out("FAILED  " .. name .. (detail and (": " .. detail) or ""))
  end
  return ok
end
local function finish()
  out(string.format("%d passed, %d failed", passed, failed))
  for _, client in pairs(vim.lsp.get_active_clients and vim.lsp.get_active_clients() or vim.lsp.get_clients()) do
    client.stop()
  end
  vim.wait(2000, function()
    return next(vim.lsp.get_active_clients and vim.lsp.get_active_clients() or vim.lsp.get_clients()) == nil
  end, 20)
  vim.cmd(failed > 0 and "cquit 1" or "qall!")
end

local function clients(buf)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = buf }) -- Neovim 0.10 and newer
  end
  return vim.lsp.buf_get_clients(buf)
end

local function open(path)
  vim.cmd("edit " .. vim.fn.fnameescape(repo .. "/" .. path))
  return vim.api.nvim_get_current_buf()
end

-- Line and column (0-based, the column in bytes: the files are ASCII) of
-- `needle` in the buffer, plus `delta` columns.
local function find(buf, needle, delta)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local col = line:find(needle, 1, true)
    if col then
      return i - 1, col - 1 + (delta or 0)
    end
  end
  error("not in the buffer: " .. needle)
end

local function request(buf, method, params)
  local responses = vim.lsp.buf_request_sync(buf, method, params, 10000) or {}
  for _, response in pairs(responses) do
    if response.err then
      return nil, vim.inspect(response.err)
    end
    return response.result
  end
  return nil, "no response"
end

local function position(buf, line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = line, character = col } }
end

local function main()
  -- Attaching and the first diagnostics.
  local started = vim.loop.hrtime()
  local buf = open("tests/fixtures/lints/HA001.topo")
  check("the filetype of a .topo file is topo", vim.bo[buf].filetype == "topo", vim.bo[buf].filetype)
  check("topoc lsp attaches", vim.wait(10000, function()
    return next(clients(buf)) ~= nil
  end, 10))
  local arrived = vim.wait(10000, function()
    return #vim.diagnostic.get(buf) > 0
  end, 5)
  local ms = math.floor((vim.loop.hrtime() - started) / 1e6)
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(codes, tostring(d.code))
  end
  check("diagnostics arrive", arrived and table.concat(codes, ",") == "HA001",
    table.concat(codes, ",") .. " after " .. ms .. " ms")
  local d = vim.diagnostic.get(buf)[1]
  check("a diagnostic carries its help line", d and d.message:find("help: run 3 nodes", 1, true) ~= nil,
    d and d.message:gsub("\n", " | "))

  -- Hover: the schema's documentation of an attribute.
  local line, col = find(buf, "node_capacity = 500rps", 2)
  local hover, err = request(buf, "textDocument/hover", position(buf, line, col))
  local text = hover and hover.contents and (hover.contents.value or vim.inspect(hover.contents)) or err
  check("hover documents an attribute", hover ~= nil and text:find("What one node serves", 1, true) ~= nil, text)

  -- Definition of a reference: the datasource's block.
  line, col = find(buf, "datasources = [shared_db]", 16)
  local location
  location, err = request(buf, "textDocument/definition", position(buf, line, col))
  if location and location[1] then
    location = location[1]
  end
  local decl_line = find(buf, "datasource shared_db", 0)
  check("definition leads to the declaration",
    location ~= nil and location.range.start.line == decl_line and location.uri == vim.uri_from_bufnr(buf),
    location and vim.inspect(location.range.start) or err)
  -- The same through Neovim's own command, which moves the cursor.
  vim.api.nvim_win_set_cursor(0, { line + 1, col })
  vim.lsp.buf.definition()
  check("vim.lsp.buf.definition() moves the cursor", vim.wait(5000, function()
    return vim.api.nvim_win_get_cursor(0)[1] == decl_line + 1
  end, 10), vim.inspect(vim.api.nvim_win_get_cursor(0)))

  -- Completion: the values of an enumeration after `ha = `.
  line = find(buf, "ha = active-active", 0)
  vim.api.nvim_buf_set_lines(buf, line, line + 1, false, { "    ha = " })
  vim.wait(200)
  local completion
  completion, err = request(buf, "textDocument/completion", position(buf, line, 9))
  local labels = {}
  for _, item in ipairs(completion and (completion.items or completion) or {}) do
    table.insert(labels, item.label)
  end
  table.sort(labels)
  check("completion offers the allowed values",
    table.concat(labels, ",") == "active-active,active-passive,none", table.concat(labels, ",") .. (err or ""))
  vim.cmd("edit!")

  -- Formatting: the canonical layout, as `topoc fmt` writes it.
  local messy = open("tests/fixtures/fmt/messy.topo")
  vim.wait(10000, function()
    return next(clients(messy)) ~= nil
  end, 10)
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ timeout_ms = 10000 })
  else
    vim.lsp.buf.formatting_sync(nil, 10000)
  end
  local formatted = vim.api.nvim_buf_get_lines(messy, 0, -1, false)
  -- What `topoc fmt` writes, from a copy of the fixture.
  local copy = vim.fn.tempname() .. ".topo"
  local original = vim.fn.readfile(repo .. "/tests/fixtures/fmt/messy.topo")
  vim.fn.writefile(original, copy)
  local fmt_output = vim.fn.system({ "topoc", "fmt", copy })
  local canonical = vim.fn.readfile(copy)
  check("formatting rewrites the buffer as topoc fmt does",
    vim.v.shell_error == 0 and not vim.deep_equal(original, canonical) and vim.deep_equal(formatted, canonical),
    fmt_output:gsub("\n", " "))
  vim.cmd("edit!")

  -- A topology split over a folder without imports, in a git checkout: the
  -- server checks it as `topoc check DIR` would, so a typo in one file is
  -- the one E005 naming it (alone, the file would lack its topology block
  -- and every name of the other files).
  local split = vim.fn.tempname()
  vim.fn.mkdir(split .. "/.git", "p")
  vim.fn.mkdir(split .. "/deploy/sites", "p")
  local chunks, name = {}, "deploy/topology.topo"
  for _, l in ipairs(vim.fn.readfile(repo .. "/examples/multi-datacenter.topo")) do
    local dc = l:match("^datacenter ([%w_-]+)")
    if dc then
      name = "deploy/sites/" .. dc .. ".topo"
    elseif l:match("^upgrade ") then
      name = "deploy/upgrades.topo"
    end
    chunks[name] = chunks[name] or {}
    table.insert(chunks[name], (l:gsub("replicates = colombo", "replicates = colmbo")))
  end
  for file, lines in pairs(chunks) do
    vim.fn.writefile(lines, split .. "/" .. file)
  end
  vim.cmd("edit " .. vim.fn.fnameescape(split .. "/deploy/sites/london.topo"))
  local london = vim.api.nvim_get_current_buf()
  vim.wait(10000, function()
    return #vim.diagnostic.get(london) > 0
  end, 10)
  local found = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(london)) do
    table.insert(found, tostring(diagnostic.code) .. " " .. diagnostic.message:gsub("\n.*", ""))
  end
  check("a folder without imports is one topology, as topoc check DIR reads it",
    #found == 1 and found[1] == "E005 no datacenter named `colmbo`", table.concat(found, "; "))

  -- Tree-sitter: the parser loads (ABI 14) and every example parses
  -- without an error; the highlights query captures block kinds.
  local example_files = vim.fn.glob(repo .. "/examples/*.topo", false, true)
  local ok_examples, bad = 0, {}
  for _, path in ipairs(example_files) do
    vim.cmd("edit " .. vim.fn.fnameescape(path))
    local b = vim.api.nvim_get_current_buf()
    local ok, parser = pcall(vim.treesitter.get_parser, b, "topo")
    if ok and parser then
      local tree = parser:parse()[1]
      if tree:root():has_error() then
        table.insert(bad, path)
      else
        ok_examples = ok_examples + 1
      end
    else
      table.insert(bad, path .. ": " .. tostring(parser))
    end
  end
  check("the tree-sitter parser parses every example", #bad == 0 and ok_examples == #example_files and ok_examples > 0,
    #bad == 0 and (ok_examples .. " examples") or table.concat(bad, "; "))
  local b = vim.api.nvim_get_current_buf()
  local get_query = vim.treesitter.query.get or vim.treesitter.get_query or vim.treesitter.query.get_query
  local query = get_query("topo", "highlights")
  local captured = {}
  if query then
    local root = vim.treesitter.get_parser(b, "topo"):parse()[1]:root()
    for id, node in query:iter_captures(root, b, 0, -1) do
      local name = query.captures[id]
      local text = vim.treesitter.get_node_text and vim.treesitter.get_node_text(node, b)
        or vim.treesitter.query.get_node_text(node, b)
      captured[name .. ":" .. text] = true
    end
  end
  check("the highlights query captures block kinds, properties and values",
    captured["keyword:topology"] and captured["keyword:datacenter"] and captured["property:role"]
      and captured["constant:primary"] and captured["comment:" .. (vim.api.nvim_buf_get_lines(b, 0, 1, false)[1])],
    query and "" or "no highlights query for topo")
  local highlighter = vim.treesitter.highlighter.active[b]
  check("the README's snippet starts tree-sitter highlighting", highlighter ~= nil)
end

local ok, err = pcall(main)
if not ok then
  check("the checks ran to the end", false, tostring(err))
end
finish()
