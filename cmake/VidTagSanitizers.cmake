# Optional sanitizers for the native tests: VIDTAG_SANITIZE=address,undefined (or OFF).
#   vidtag_sanitize(<target>)
set(VIDTAG_SANITIZE "OFF" CACHE STRING "Comma-separated -fsanitize= list, or OFF")

function(vidtag_sanitize target)
  if(VIDTAG_SANITIZE AND NOT VIDTAG_SANITIZE STREQUAL "OFF")
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${VIDTAG_SANITIZE} -fno-omit-frame-pointer>)
    target_link_options(${target} PRIVATE -fsanitize=${VIDTAG_SANITIZE})
  endif()
endfunction()
