# The arrows point one way: cli -> storage, handlers -> engine. This test
# fails when a file includes what its module may not depend on.
function(forbid dir pattern why)
  file(GLOB_RECURSE files ${ROOT}/${dir}/*.h ${ROOT}/${dir}/*.cpp)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "#include")
    foreach(line ${lines})
      if(line MATCHES "${pattern}")
        get_filename_component(name ${f} NAME)
        if(NOT (dir STREQUAL "engine" AND name MATCHES "^loader" AND line MATCHES "yaml-cpp"))
          message(SEND_ERROR "${f}: `${line}` — ${why}")
        endif()
      endif()
    endforeach()
  endforeach()
endfunction()

forbid(engine "SQLiteCpp|sqlite3|CLI/|storage/|handlers/|cli/|yaml-cpp|<iostream>|<chrono>|<ctime>|<random>"
       "engine/ is pure: no SQLite, CLI, clock, randomness or printing, and yaml-cpp only in loader*.cpp")
forbid(handlers "SQLiteCpp|sqlite3|CLI/|storage/|cli/" "handlers/ depend on engine/ only")
forbid(storage "CLI/|handlers/|cli/|<iostream>" "storage/ depends on engine/ only and never prints")
