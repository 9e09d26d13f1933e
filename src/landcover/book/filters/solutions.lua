--[[
solutions.lua: show, collapse or hide the exercise solutions of the book.

A solution is a callout with the class `solution`:

    ::: {.callout-note .solution collapse="true" title="Solution — Exercise 1"}
    ```{python}
    ...
    ```
    :::

The metadata key `solutions` (set by each Quarto profile) chooses what the
page shows:

  collapsed  (self-study, the default) the callout is folded; one click opens it
  hidden     (workshop) the callout is removed from the page. The code has
             already run by the time filters run, so later cells still work.
  expanded   (instructor) the callout is open, and can still be folded

Everything else (the exercise, its hints, its template, its check) is left
alone in every mode. The filter works both on Quarto's callout nodes
(Quarto >= 1.3) and on plain pandoc divs (used by the tests).
]]

local MODES = { collapsed = true, hidden = true, expanded = true }
local PROFILE_MODES = { ["self-study"] = "collapsed", workshop = "hidden", instructor = "expanded" }

local mode = "collapsed"

local function has_class(classes, name)
  if classes == nil then
    return false
  end
  for _, class in ipairs(classes) do
    if class == name then
      return true
    end
  end
  return false
end

local function is_callout(div)
  for _, class in ipairs(div.classes) do
    if class == "callout" or class:match("^callout%-") then
      return true
    end
  end
  return false
end

-- The mode from metadata; without it, from the active Quarto profile.
local function read_mode(meta)
  local value = meta.solutions
  if value ~= nil then
    value = pandoc.utils.stringify(value)
  else
    value = "collapsed"
    local profiles = os.getenv("QUARTO_PROFILE") or ""
    for profile in profiles:gmatch("[^,%s]+") do
      if PROFILE_MODES[profile] then
        value = PROFILE_MODES[profile]
      end
    end
  end
  if not MODES[value] then
    error("solutions.lua: metadata 'solutions' must be collapsed, hidden or expanded, not '" .. value .. "'")
  end
  mode = value
end

local function collapse_value()
  if mode == "collapsed" then
    return "true"
  end
  return "false"
end

-- Plain pandoc (and Quarto before 1.3): the callout is still a Div.
local function solution_div(div)
  if not (has_class(div.classes, "solution") and is_callout(div)) then
    return nil
  end
  if mode == "hidden" then
    return pandoc.Blocks({})
  end
  div.attributes["collapse"] = collapse_value()
  return div
end

-- Quarto >= 1.3: callouts are custom nodes with `collapse` and `attr` fields.
local function solution_callout(callout)
  if callout.attr == nil or not has_class(callout.attr.classes, "solution") then
    return nil
  end
  if mode == "hidden" then
    return pandoc.Blocks({})
  end
  callout.collapse = collapse_value()
  return callout
end

return {
  { Meta = read_mode },
  { Div = solution_div, Callout = solution_callout },
}
